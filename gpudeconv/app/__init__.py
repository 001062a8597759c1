"""What a user runs: the ``gpudeconv`` command, the live viewer, the demo.

Layer 8 of 8, the top: nothing in the package imports it.
"""
