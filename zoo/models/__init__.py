"""The game and its pieces: `adversarial` (the keras.Model that trains with fit), `tricks`
(stabilizing tricks, one file each), `losses`, `layers`, `networks` (G and D builders) and
`variants` (one file per GAN, registered by name in `registry`)."""
