#!/bin/sh
# System packages songspace uses beside its Python ones, all from Debian's registry:
#  - a Bengali font (fonts-lohit-beng-bengali): figures, report and explorer show Bengali script (else: empty boxes);
#  - Chromium: prints report.html to report.pdf and runs the browser checks of the explorer and report;
#  - ffmpeg: decodes AAC (.m4a, .aac, .mp4) through audioread (libsndfile reads the other formats).
# Debian/Ubuntu as root: install what is missing. Otherwise: say how, and go on (songspace runs without them;
# it then writes no report.pdf and the browser tests are skipped).
need=""
fc-list 2>/dev/null | grep -qi -e bengali -e "noto sans bengali" || need="$need fonts-lohit-beng-bengali"
command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || need="$need chromium"
command -v ffmpeg >/dev/null 2>&1 || need="$need ffmpeg"
[ -z "$need" ] && exit 0
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing system packages:$need"
  # shellcheck disable=SC2086
  (apt-get install -y -q $need >/dev/null 2>&1 ||
   { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q $need >/dev/null 2>&1; }) ||
    echo "warning: could not install$need; Bengali text may show as boxes, report.pdf is not written, .m4a/.aac \
files are not decoded"
  rm -rf "${HOME}/.cache/matplotlib"  # let matplotlib see a new font
else
  echo "note: missing system packages:$need. Install them (e.g. 'sudo apt-get install$need') for Bengali"
  echo "      text in figures, for report.pdf and to decode .m4a/.aac/.mp4; songspace runs without them."
fi
