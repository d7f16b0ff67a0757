"""The built-in bilingual demo collection: synthetic songs in English and Bangla, with labels.

``generate_demo(out_dir)`` writes an ordinary dataset folder (``audio/``, ``lyrics/``,
``metadata.csv``) of short synthetic tracks in six styles, sung in English, Bengali script, romanised
Bangla and code-mixed Bangla, plus instrumentals. Language and genre are balanced against each other,
and artists add their own voice and mix, so the demo can check whether a model finds language and
genre without being told.

Modules, in the order the data flows:

``lexicon``      real English and Bengali words (script + romanisation), by theme
``lyrics``       verse/chorus songs from small SVO / SOV grammars
``phonetics``    words -> sung syllables, with English and Bengali rules and vowel formant tables
``voice``        formant singer
``styles``       the six genres: tempo, rhythm, harmony, instruments, dynamics
``instruments``  pitched timbres and drum sounds
``synth``        arrangement and mix of one track
``generate``     planning (one RNG pass), parallel rendering, atomic writing
"""

from songspace.datasets.demo.generate import DEMO_VERSION, DemoSummary, generate_demo

__all__ = ["DEMO_VERSION", "DemoSummary", "generate_demo"]
