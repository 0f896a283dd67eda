"""One-sided label smoothing (Salimans et al. 2016, sec. 3.4): D's target for real images is
1 - s instead of 1, which keeps D from growing overconfident; fakes keep target 0."""

from zoo.models.tricks import Setting, Trick, register


@register
class LabelSmoothing(Trick):
    settings = (
        Setting("label_smoothing", float, 0.0, "one-sided: the real target becomes 1 - label_smoothing"),
    )

    def check(self):
        if not 0.0 <= self.label_smoothing < 1.0:
            raise ValueError(
                f"label_smoothing must be in [0, 1). Received: label_smoothing={self.label_smoothing!r}"
            )

    def smoothing(self):
        return self.label_smoothing
