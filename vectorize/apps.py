import os

from django.apps import AppConfig
from PIL import Image

# Freed Pillow image blocks (of up to 16 MB) each process keeps for its next image. Pillow's own
# default is none: every image's memory then goes back to the system and is faulted in afresh
# by the next (about 800 page faults an upload on a web node, against 100 with 4 kept, and 2 ms
# less CPU an upload on the benchmark machine). Pillow's PILLOW_BLOCKS_MAX, when set, wins.
IMAGE_BLOCKS_KEPT = 4


class VectorizeConfig(AppConfig):
    name = "vectorize"
    verbose_name = "Vectorization"

    def ready(self):
        if "PILLOW_BLOCKS_MAX" not in os.environ:
            Image.core.set_blocks_max(IMAGE_BLOCKS_KEPT)
