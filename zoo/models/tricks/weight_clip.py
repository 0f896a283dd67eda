"""Weight clipping (Arjovsky et al. 2017): every D weight is clipped to [-c, c] after each D
update, the WGAN critic's crude way to stay Lipschitz."""

import tensorflow as tf

from zoo.models.tricks import Setting, Trick, register


@register
class WeightClip(Trick):
    settings = (Setting("weight_clip", float, 0.0, "WGAN weight clipping bound c; 0 is off",
                        recipe_default=None),)  # fmt: skip

    def networks(self, generator, discriminator):
        self._clip(discriminator)  # the critic satisfies its constraint from the start
        return generator, discriminator

    def after_d_update(self, model):
        self._clip(model.discriminator)

    def _clip(self, discriminator):
        for v in discriminator.trainable_variables:
            v.assign(tf.clip_by_value(v, -self.weight_clip, self.weight_clip))
