"""Resolve what users ask for and open it as a stream of 20 ms frames (PyAV)."""
