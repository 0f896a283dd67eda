"""What watches and protects a `fit`: sample grids, the health monitor, backups, the time budget."""
