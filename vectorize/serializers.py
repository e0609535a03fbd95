"""API input and output shapes for vectorizations (no logic: the services decide)."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.reverse import reverse

from vectorize import engine
from vectorize.engine.exports import FORMATS
from vectorize.engine.parameters import Choice
from vectorize.models import Vectorization

# The API's `mode` is the job mode (production, preview, test), so vtracer's own `mode` (spline,
# polygon, none) is called `path_mode` here.
API_NAMES = {"mode": "path_mode"}


def _parameter_fields() -> dict:
    """One optional field per engine parameter, with the engine's own ranges and help."""
    fields = {}
    for engine_name, spec in engine.PARAMETERS.items():
        name = API_NAMES.get(engine_name, engine_name)
        if isinstance(spec, Choice):
            fields[name] = serializers.ChoiceField(
                choices=spec.values, required=False, help_text=spec.help
            )
        else:
            field_class = serializers.IntegerField if spec.integer else serializers.FloatField
            fields[name] = field_class(
                min_value=spec.minimum, max_value=spec.maximum, required=False, help_text=spec.help
            )
    fields["max_colors"] = serializers.IntegerField(
        min_value=2,
        max_value=256,
        required=False,
        help_text=engine.parameters.COLOR_OPTIONS["max_colors"].help,
    )
    fields["palette"] = serializers.ListField(
        child=serializers.CharField(max_length=600),
        required=False,
        max_length=64,
        help_text="Hex colours, e.g. #0a2540 (repeat the field, or separate with commas). "
        + engine.parameters.COLOR_OPTIONS["palette"].help,
    )
    return fields


SETTING_NAMES = {
    **{API_NAMES.get(name, name): name for name in engine.PARAMETERS},
    "max_colors": "max_colors",
    "palette": "palette",
}

SettingsSerializer = type(
    "SettingsSerializer",
    (serializers.Serializer,),
    {
        "preset": serializers.ChoiceField(
            choices=engine.PRESET_NAMES, default=engine.AUTO, help_text="auto picks from the image."
        ),
        **_parameter_fields(),
    },
)


class CreateInputSerializer(SettingsSerializer):
    image = serializers.FileField(help_text="PNG, JPEG, WebP, GIF, BMP or TIFF.")
    mode = serializers.ChoiceField(
        choices=["production", "preview", "test"],
        default="production",
        help_text="production: full size; preview: scaled down, free; test: checks and prices, "
        "no job.",
    )


class BatchInputSerializer(SettingsSerializer):
    images = serializers.ListField(
        child=serializers.FileField(), min_length=1, help_text="Repeat the field once per file."
    )
    mode = serializers.ChoiceField(choices=["production", "preview"], default="production")


class RerunInputSerializer(SettingsSerializer):
    pass


def split_settings(data: dict) -> tuple[str, dict]:
    """(preset, overrides) from validated input data."""
    overrides = {
        engine_name: data[name] for name, engine_name in SETTING_NAMES.items() if name in data
    }
    return data.get("preset", engine.AUTO), overrides


class JobErrorSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()


class FidelitySerializer(serializers.Serializer):
    ssim = serializers.FloatField(help_text="Structural similarity of a render to the input.")
    svg_bytes = serializers.IntegerField()
    path_count = serializers.IntegerField()
    node_count = serializers.IntegerField()
    color_count = serializers.IntegerField()
    engine_ms = serializers.IntegerField()


# Read once: building a serializer's fields on every status poll is measurable under load.
FIDELITY_FIELDS = tuple(FidelitySerializer().fields)


class VectorizationSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    status = serializers.ChoiceField(choices=Vectorization.Status.choices)
    mode = serializers.ChoiceField(choices=Vectorization.Mode.choices)
    original_filename = serializers.CharField()
    source_format = serializers.CharField()
    width = serializers.IntegerField()
    height = serializers.IntegerField()
    input_bytes = serializers.IntegerField()
    preset = serializers.CharField()
    used_preset = serializers.CharField(help_text="What auto chose; empty until traced.")
    options = serializers.DictField(help_text="The overrides asked for.")
    parameters = serializers.DictField(help_text="The complete settings the job ran with.")
    batch = serializers.UUIDField(source="batch_id", allow_null=True)
    rerun_of = serializers.UUIDField(source="rerun_of_id", allow_null=True)
    attempts = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    files_deleted_at = serializers.DateTimeField(
        allow_null=True,
        help_text="When retention deleted the input and result; the figures stay. Null while "
        "they are kept.",
    )
    queue_ms = serializers.IntegerField(allow_null=True)
    engine_ms = serializers.IntegerField(allow_null=True)
    error = serializers.SerializerMethodField()
    fidelity = serializers.SerializerMethodField()
    links = serializers.SerializerMethodField()

    @extend_schema_field(JobErrorSerializer(allow_null=True))
    def get_error(self, job) -> dict | None:
        if job.status != Vectorization.Status.FAILED:
            return None
        return {"code": job.error_code, "message": job.error_message}

    @extend_schema_field(FidelitySerializer(allow_null=True))
    def get_fidelity(self, job) -> dict | None:
        if job.status != Vectorization.Status.SUCCEEDED:
            return None
        return {name: job.metrics.get(name) for name in FIDELITY_FIELDS}

    @extend_schema_field(serializers.DictField(child=serializers.CharField()))
    def get_links(self, job) -> dict:
        request = self.context.get("request")
        own = reverse("api:vectorization-detail", args=[job.pk], request=request)
        links = {"self": own}
        if job.has_result:
            download = reverse("api:vectorization-download", args=[job.pk], request=request)
            links.update({fmt: f"{download}?format={fmt}" for fmt in FORMATS})
        return links


class TestResultSerializer(serializers.Serializer):
    mode = serializers.CharField(default="test")
    valid = serializers.BooleanField()
    width = serializers.IntegerField()
    height = serializers.IntegerField()
    megapixels = serializers.FloatField()
    source_format = serializers.CharField()
    credits = serializers.IntegerField(help_text="What a production run would cost.")


class BatchSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    created_at = serializers.DateTimeField()
    total = serializers.IntegerField()
    done = serializers.IntegerField()
    failed = serializers.IntegerField()
    pending = serializers.IntegerField()
    vectorizations = VectorizationSerializer(many=True)


class ListFilterSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=Vectorization.Status.choices, required=False)
    created_after = serializers.DateTimeField(required=False)
    created_before = serializers.DateTimeField(required=False)
