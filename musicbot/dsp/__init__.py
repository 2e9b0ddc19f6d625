"""The audio engine's DSP: numpy filters on 20 ms stereo frames. Imports nothing but numpy/scipy."""
