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
