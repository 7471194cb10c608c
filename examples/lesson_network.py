"""The lesson's 8-6-6-4 network: build it, trace one sample, print every neuron (what `make demo` runs)."""

from nngraph.demo import run_demo

if __name__ == "__main__":
    run_demo()
