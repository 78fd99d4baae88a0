"""Big backbones through Hugging Face ``transformers`` (``pip install whodirected[hub]``): the
weights download from the hub on first use; tests build them with random weights."""

from __future__ import annotations

import importlib
from collections.abc import Callable

from whodirected.errors import BackboneError
from whodirected.features.backbones.registry import (
    BackboneSpec,
    Extractor,
    Preprocess,
    TorchExtractor,
    register,
)

IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
CLIP_MEAN, CLIP_STD = (0.4815, 0.4578, 0.4082), (0.2686, 0.2613, 0.2758)


def _hub(
    name: str, repo: str, classes: tuple[str, str], dim: int, prep: Preprocess, config: dict
) -> Callable[[str, bool, str], Extractor]:
    """Build a transformers vision model: hub weights, or random ones from ``config`` (tests)."""

    def build(device: str, random_weights: bool, precision: str) -> Extractor:
        transformers = importlib.import_module("transformers")
        model_type, config_type = (getattr(transformers, c) for c in classes)
        if random_weights:
            net = model_type(config_type(**config))
        else:
            try:
                net = model_type.from_pretrained(repo)
            except OSError as exc:
                raise BackboneError(
                    f"backbone {name} needs its weights from the Hugging Face hub ({repo}), which could not "
                    f"be downloaded ({type(exc).__name__}); run once with internet access, they are then cached"
                ) from None

        def pool(net, x):
            return net(pixel_values=x).pooler_output.flatten(1)

        return TorchExtractor(
            name, dim, net, pool, prep, "random" if random_weights else repo, device, precision
        )

    return build


for _name, _repo, _classes, _dim, _prep, _licence, _config in (
    (
        "resnet-50",
        "microsoft/resnet-50",
        ("ResNetModel", "ResNetConfig"),
        2048,
        Preprocess(224, IMAGENET_MEAN, IMAGENET_STD),
        "Apache-2.0",
        {},
    ),
    (
        "mobilenet-v2",
        "google/mobilenet_v2_1.0_224",
        ("MobileNetV2Model", "MobileNetV2Config"),
        1280,
        Preprocess(224, (0.5,) * 3, (0.5,) * 3),
        "other (TensorFlow models licence)",
        {},
    ),
    (
        "clip-vit-b32",
        "openai/clip-vit-base-patch32",
        ("CLIPVisionModel", "CLIPVisionConfig"),
        768,
        Preprocess(224, CLIP_MEAN, CLIP_STD),
        "MIT",
        {"patch_size": 32},
    ),
    (
        "dinov2-small",
        "facebook/dinov2-small",
        ("Dinov2Model", "Dinov2Config"),
        384,
        Preprocess(224, IMAGENET_MEAN, IMAGENET_STD),
        "Apache-2.0",
        {"hidden_size": 384, "num_attention_heads": 6, "intermediate_size": 1536},
    ),
):
    register(
        BackboneSpec(
            _name,
            _dim,
            _prep.size,
            _licence,
            f"hub: {_repo}",
            "transformers",
            False,
            _hub(_name, _repo, _classes, _dim, _prep, _config),
            prep=_prep,
            weights_tag=_repo,
        )
    )
