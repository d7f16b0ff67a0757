#!/bin/sh
# Figures label tracks in Bengali script: they need a font that has its glyphs (else: empty boxes).
# Debian/Ubuntu as root: install one from the distribution. Otherwise: say how, and go on.
if fc-list 2>/dev/null | grep -qi -e bengali -e "noto sans bengali"; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing a Bengali font (fonts-lohit-beng-bengali) for figures"
  (apt-get install -y -q fonts-lohit-beng-bengali >/dev/null 2>&1 ||
   { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q fonts-lohit-beng-bengali >/dev/null 2>&1; }) ||
    echo "warning: could not install fonts-lohit-beng-bengali; Bengali text in figures may show as boxes"
  rm -rf "${HOME}/.cache/matplotlib"  # let matplotlib see the new font
else
  echo "note: no Bengali font found. Install one (e.g. 'sudo apt-get install fonts-lohit-beng-bengali', or"
  echo "      Noto Sans Bengali) so that Bengali text in figures does not show as boxes."
fi
