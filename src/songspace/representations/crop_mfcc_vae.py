"""``crop_mfcc_vae``: the 1-D conv VAE on MFCC sequences, trained on the crops of ``crop_vae``."""

from __future__ import annotations

from songspace.representations.crop_vae import CropParams
from songspace.representations.spec import AUDIO, SHARED_BETA, RepresentationSpec


class CropMfccParams(CropParams):
    """``[representations.params.crop_mfcc_vae]``: as ``crop_vae``'s; ``bands`` is unused (MFCCs read every mel
    band)."""

    frames: int = 64  # 1-D convolutions are cheap: twice the time resolution of crop_vae
    channels: list[int] = [32, 64, 128]


def build(ctx):
    from songspace.representations.crop_vae import build_crops

    return build_crops(ctx, SPEC, "conv VAE on MFCCs", mfcc=True)


SPEC = RepresentationSpec(
    name="crop_mfcc_vae", modality=AUDIO, build=build, learned=True, model="mfcc_conv_vae", kl_beta=SHARED_BETA,
    reconstructs="modulation spectra of MFCC crops", params=CropMfccParams,
    description="1-D convolutional VAE on MFCC sequences of many augmented 2-4 s crops per track; a track is its "
                "mean posterior mean over evenly spaced crops")
