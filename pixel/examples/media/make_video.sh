#!/usr/bin/env bash
# How media/demo.webm (4 s, 64x36, VP8, ~4.5 KB) was made. Not run by the build or the tests:
# the file is committed. Any ffmpeg with libvpx works, e.g. the one inside the PyPI wheel
# imageio-ffmpeg (pip install imageio-ffmpeg; python -c "import imageio_ffmpeg as f; print(f.get_ffmpeg_exe())").
set -euo pipefail
FFMPEG=${FFMPEG:-ffmpeg}
"$FFMPEG" -hide_banner -loglevel error -y -f lavfi -i "testsrc=size=64x36:rate=5:duration=4" \
  -c:v libvpx -b:v 8k -an "$(dirname "$0")/demo.webm"
