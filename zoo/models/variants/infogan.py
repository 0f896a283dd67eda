"""InfoGAN: latent codes that G must keep recoverable from its images."""

import numpy as np
import tensorflow as tf

from zoo import contract
from zoo.models.registry import register_variant
from zoo.models.variants.cgan import class_cross_entropy
from zoo.models.variants.dcgan import DCGAN


@register_variant("infogan")
class InfoGAN(DCGAN):
    """InfoGAN (Chen et al. 2016, arXiv:1606.03657).

    G's input is incompressible noise z plus structured codes: one categorical code
    `code_cat` (int32, `categorical_code` values) and `continuous_code` codes
    `code_cont` uniform in [-1, 1]. A Q head on D's body (`code_cat_logits`,
    `code_cont_mean`) predicts the codes of fakes; G and D+Q both minimise the Q loss,
    the variational lower bound of the mutual information I(c; G(z, c)) (sec. 5):
    cross-entropy for the categorical code, a unit-variance Gaussian log-likelihood for
    the continuous ones. Unsupervised: labels in the data are ignored.

    Args:
        categorical_code: number of values of the categorical code.
        continuous_code: number of continuous codes.
        info_weight: lambda, the weight of the Q loss.
    """

    def __init__(
        self,
        generator,
        discriminator,
        categorical_code: int = 10,
        continuous_code: int = 2,
        info_weight: float = 1.0,
        **kwargs,
    ):
        super().__init__(generator, discriminator, **kwargs)
        self.categorical_code = int(categorical_code)
        self.continuous_code = int(continuous_code)
        self.info_weight = float(info_weight)
        self.codes = {
            "code_cat": {"kind": "categorical", "size": self.categorical_code},
            "code_cont": {
                "kind": "uniform",
                "size": self.continuous_code,
                "low": -1.0,
                "high": 1.0,
            },
        }

    @classmethod
    def conditioning(cls, num_classes, model_kwargs):
        super().conditioning(num_classes, model_kwargs)
        categorical = model_kwargs.setdefault("categorical_code", 10)
        continuous = model_kwargs.setdefault("continuous_code", 2)
        g_options = {"categorical_code": categorical, "continuous_code": continuous}
        heads = {"code_cat_logits": categorical, "code_cont_mean": continuous}
        return g_options, {"heads": heads}, {}

    def q_loss(self, fake_extras, g_inputs):
        """Per-example negative lower bound of the mutual information (up to constants)."""
        cat_logits, cont_mean = fake_extras
        cat = class_cross_entropy(cat_logits, g_inputs["code_cat"])
        cont = 0.5 * tf.reduce_sum(tf.square(g_inputs["code_cont"] - cont_mean), axis=-1)
        return self.info_weight * (cat + cont)

    def discriminator_aux_loss(self, real_extras, fake_extras, labels, g_inputs):
        return self.q_loss(fake_extras, g_inputs)

    def generator_aux_loss(self, fake_extras, labels, g_inputs):
        return self.q_loss(fake_extras, g_inputs)

    def code_sweep(self, rows: int, seed: int = 0) -> dict[str, np.ndarray]:
        """Inputs for a grid whose rows share z (and continuous codes at 0) and whose columns
        run through the categorical code: what the code alone changes."""
        k = self.categorical_code
        z = contract.Stream(seed).standard_normal((rows, self.latent_dim)).astype(np.float32)
        z = np.repeat(z, k, axis=0)
        return {
            "z": z,
            "code_cat": np.tile(np.arange(k, dtype=np.int32), rows),
            "code_cont": np.zeros((rows * k, self.continuous_code), np.float32),
        }

    def get_config(self):
        return {
            **super().get_config(),
            "categorical_code": self.categorical_code,
            "continuous_code": self.continuous_code,
            "info_weight": self.info_weight,
        }
