"""Front ends for other libraries' networks; each imports its library only when called.

    neat.py   neat-python genomes: a whole generation compiled into one plan (the ``neat`` extra)
"""
