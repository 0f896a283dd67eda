"""Minibatch discrimination (Salimans et al. 2016, sec. 3.2): D sees how close each example's
features are to the rest of the minibatch, so a collapsed G is easy to spot. The layer is
`zoo.models.layers.MinibatchDiscrimination`, inserted before D's logit."""

from zoo.models.tricks import Setting, Trick, register


@register
class MinibatchDiscrimination(Trick):
    settings = (
        Setting(
            "minibatch_discrimination", int, 0, "kernels of a minibatch-discrimination layer in D; 0 is off"
        ),
    )

    def discriminator_options(self):
        return {"minibatch_kernels": self.minibatch_discrimination}
