"""The lesson's 8-6-6-4 network: build it, trace one sample, print every neuron, draw it (`make demo`).

Usage: python examples/lesson_network.py [diagram folder, default out/lesson]
"""

import sys

from nngraph.demo import run_demo

if __name__ == "__main__":
    run_demo(diagram_folder=sys.argv[1] if len(sys.argv) > 1 else "out/lesson")
