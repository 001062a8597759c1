"""Filters as shader source, for engines and programs that are not ours.

Layer 4 of 8: above :mod:`gpudeconv.fit` and :mod:`gpudeconv.engine` (whose tap plan it
shares). :mod:`~gpudeconv.render.shaders` writes GLSL compute/fragment and HLSL;
:mod:`~gpudeconv.render.host_shaders` writes mpv/libplacebo user shaders and ReShade FX;
:mod:`~gpudeconv.render.gl` runs an exported shader in a moderngl context.
"""
