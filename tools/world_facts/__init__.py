"""Plain, true world facts behind the embedded world-knowledge set.

Conventions shared by every module here:

* Each table is a list of tuples of plain strings (or ints).
* A string field may hold several aliases separated by ``|``; the first one is
  the canonical form (the one shown in questions and used as the target answer).
* ``None`` means "no single true answer / left out on purpose" and is skipped.
* An ``int`` answer is a number; ``tools/build_world.py`` adds its English
  words as aliases ("8" / "eight"). Years are ints too but keep digits only.

``tools/build_world.py`` turns these tables into questions.
"""
