"""The faces block: time per frame and faces found, by the height of the copy faces are looked
for on and dlib's upsampling, on frames of Tears of Steel (../shared, every 0.5 s) and
scikit-image's astronaut; the block's default is marked.

    python benchmarks/faces.py
"""

from __future__ import annotations

import time

import numpy as np
from _common import real_clips
from PIL import Image

from whodirected.extract.video import Video
from whodirected.features import faces
from whodirected.features.backbones import REGISTRY


def main() -> None:
    if not REGISTRY["faces"].available():
        print(f"the faces block is not installed: {faces.INSTALL}")
        return
    from skimage import data

    clips = real_clips()
    pictures = [Image.fromarray(data.astronaut())]
    if clips is not None:
        with Video(clips / "Ian Hubert" / "Tears of Steel" / "part-a.mp4") as video:
            pictures += [f.image for f in video.sample([t / 2 for t in range(int(video.duration * 2))])]
    faces.detect(pictures[0])  # load the models
    print(
        f"{len(pictures)} pictures: the astronaut (512x512) and Tears of Steel frames ({pictures[-1].size[0]}x{pictures[-1].size[1]})"
    )
    print("| work height | upsample | ms a frame | frames with a face | faces | smallest face found |")
    print("|---|---|---|---|---|---|")
    for height in (288, 432, 576):
        for upsample in (0, 1, 2):
            start = time.perf_counter()
            found = [faces.detect(p, height, upsample) for p in pictures]
            ms = (time.perf_counter() - start) * 1000 / len(pictures)
            heights = [f.height for r in found for f in r.faces]
            mark = "**" if (height, upsample) == (faces.WORK_HEIGHT, faces.UPSAMPLE) else ""
            print(
                f"| {mark}{height}{mark} | {upsample} | {ms:.0f} | {sum(1 for r in found if r.faces)} | {len(heights)} "
                f"| {min(heights, default=np.nan):.3f} of the height |",
                flush=True,
            )


if __name__ == "__main__":
    main()
