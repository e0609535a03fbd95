from django import forms

from vectorize import engine

PRESET_CHOICES = [
    (name, f"{name.capitalize()}: {engine.PRESET_DESCRIPTIONS[name]}")
    for name in engine.PRESET_NAMES
]


class UploadForm(forms.Form):
    # A plain FileField: the image itself is checked by the engine, in the service.
    image = forms.FileField(
        label="Image",
        help_text="PNG, JPEG, WebP, GIF, BMP or TIFF.",
        widget=forms.ClearableFileInput(
            attrs={"accept": "image/png,image/jpeg,image/webp,image/gif,image/bmp,image/tiff"}
        ),
    )
    preset = forms.ChoiceField(choices=PRESET_CHOICES, initial=engine.AUTO)
