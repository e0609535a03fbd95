from django import forms

from vectorize import engine
from vectorize.models import Vectorization

PRESET_CHOICES = [
    (name, f"{name.capitalize()}: {engine.PRESET_DESCRIPTIONS[name]}")
    for name in engine.PRESET_NAMES
]


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """One or several files (Django's documented pattern); cleaned to a list."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(item, initial) for item in data]
        return [single(data, initial)]


class UploadForm(forms.Form):
    # Plain file fields: the images themselves are checked by the engine, in the service.
    image = MultipleFileField(
        label="Images",
        help_text="PNG, JPEG, WebP, GIF, BMP or TIFF; one or several.",
        widget=MultipleFileInput(
            attrs={"accept": "image/png,image/jpeg,image/webp,image/gif,image/bmp,image/tiff"}
        ),
    )
    preset = forms.ChoiceField(choices=PRESET_CHOICES, initial=engine.AUTO)


class HistoryFilterForm(forms.Form):
    status = forms.ChoiceField(
        choices=[("", "All"), *Vectorization.Status.choices], required=False, label="Show"
    )


ADVANCED = {
    "filter_speckle": "Ignore specks smaller than this (pixels). Higher: cleaner, less detail.",
    "color_precision": "Colour detail (bits per channel). Higher: more colours, bigger file.",
    "layer_difference": "How different two colours must be to stay apart. Higher: fewer colours.",
    "corner_threshold": "Angle (degrees) that counts as a corner. Lower: more corners kept.",
    "path_precision": "Decimals in coordinates. Higher: more exact, bigger file.",
}


class RerunForm(forms.Form):
    """Settings for tracing a stored image again; the sliders apply only when `advanced` is on."""

    preset = forms.ChoiceField(choices=PRESET_CHOICES, initial=engine.AUTO)
    path_mode = forms.ChoiceField(
        choices=[
            ("", "As the preset"),
            ("spline", "Curves"),
            ("polygon", "Straight lines"),
            ("none", "Pixel-exact"),
        ],
        required=False,
        label="Shapes",
    )
    max_colors = forms.IntegerField(
        min_value=2,
        max_value=256,
        required=False,
        label="At most this many colours",
        help_text="Leave empty to keep every colour the preset finds.",
    )
    advanced = forms.BooleanField(required=False, label="Use the sliders below")

    def __init__(self, *args, parameters=None, **kwargs):
        super().__init__(*args, **kwargs)
        parameters = parameters or engine.PRESETS["clipart"]
        for name, help_text in ADVANCED.items():
            spec = engine.PARAMETERS[name]
            self.fields[name] = forms.IntegerField(
                min_value=int(spec.minimum),
                max_value=int(spec.maximum),
                initial=parameters.get(name),
                required=False,
                help_text=help_text,
                label=name.replace("_", " ").capitalize(),
                widget=forms.NumberInput(
                    attrs={"type": "range", "min": int(spec.minimum), "max": int(spec.maximum)}
                ),
            )

    def settings(self) -> tuple[str, dict]:
        """(preset, overrides) from the cleaned form."""
        data = self.cleaned_data
        overrides = {}
        if data.get("path_mode"):
            overrides["mode"] = data["path_mode"]
        if data.get("max_colors"):
            overrides["max_colors"] = data["max_colors"]
        if data.get("advanced"):
            overrides.update({name: data[name] for name in ADVANCED if data.get(name) is not None})
        return data["preset"], overrides
