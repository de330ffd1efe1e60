"""The generic trainer, GAN losses, logging and sample grids."""
