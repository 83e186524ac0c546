"""Bad input to the backbone: a clear error naming the problem, or correct results.
Checkpoint cases (missing, truncated, other variant, unknown keys, unsafe pickle) are in
test_checkpoint.py."""
import pytest
import torch

from focalnet_mm import FocalNet


@pytest.fixture(scope='module')
def tiny():
    return FocalNet('tiny-srf', drop_path_rate=0.).eval()


@pytest.mark.parametrize('shape,needle', [
    ((1, 1, 32, 32), r'\(N, 3, H, W\).*\(1, 1, 32, 32\)'),   # grey image into an RGB model
    ((1, 4, 32, 32), r'\(N, 3, H, W\).*\(1, 4, 32, 32\)'),   # RGBA
    ((3, 32, 32), r'\(3, 32, 32\)'),                          # missing batch dim
    ((1, 1, 3, 32, 32), r'\(1, 1, 3, 32, 32\)'),              # 5-D
])
def test_wrong_input_shape(tiny, shape, needle):
    with pytest.raises(ValueError, match=needle):
        tiny(torch.zeros(shape))


def test_other_input_channels_when_configured():
    model = FocalNet('tiny-srf', in_channels=1, drop_path_rate=0.).eval()
    assert model(torch.zeros(1, 1, 40, 40))[0].shape == (1, 96, 10, 10)


@pytest.mark.parametrize('hw', [(1, 1), (8, 8), (5, 37), (33, 1)])
def test_images_smaller_than_total_stride_are_padded(tiny, hw):
    outs = tiny(torch.randn(1, 3, *hw))
    for i, o in enumerate(outs):
        stride = 4 * 2**i
        assert o.shape[-2:] == tuple(-(-s // stride) for s in hw)
        assert torch.isfinite(o).all()


def test_non_contiguous_and_channels_last_inputs(tiny):
    x = torch.randn(2, 3, 64, 80)
    ref = tiny(x)
    variants = [x.contiguous(memory_format=torch.channels_last),
                x.transpose(2, 3).contiguous().transpose(2, 3),     # non-contiguous strides
                torch.randn(2, 3, 64, 160)[..., ::2].copy_(x)]      # a strided view
    for v in variants:
        assert not v.is_contiguous() or v.is_contiguous(memory_format=torch.channels_last)
        for a, b in zip(tiny(v), ref):
            torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)


def test_nan_is_not_hidden(tiny):
    x = torch.randn(1, 3, 64, 64)
    x[0, 0, 5, 5] = float('nan')
    outs = tiny(x)
    assert all(torch.isnan(o).any() for o in outs)


def test_half_precision_and_double_inputs():
    model = FocalNet('tiny-srf', drop_path_rate=0.).eval()
    x = torch.randn(1, 3, 64, 64)
    ref = model(x)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        out = model(x)
    for a, b in zip(out, ref):  # computed in bf16 (8-bit mantissa): close to fp32, not equal
        assert a.dtype == torch.bfloat16
        assert 1e-4 < (a.float() - b).abs().max() < 0.2
    with pytest.raises(RuntimeError):  # dtype mismatch with fp32 weights is torch's own error
        model(x.double())


@pytest.mark.parametrize('kwargs,needle', [
    (dict(arch='tiny'), r"Unknown `arch` 'tiny'; choose one of \['base-lrf'"),
    (dict(arch=3), r'`arch` must be a preset name or a dict'),
    (dict(arch=dict(embed_dims=96, depths=(2, 2, 6, 2), focal_levels=2)), r"missing \['focal_windows'\]"),
    (dict(arch=dict(embed_dims=96, depths=(2, 2, 6, 2), focal_levels=2, focal_windows=3,
                    window=9)), r"unknown keys \['window'\]"),
    (dict(focal_levels=[2, 2, 2]), r'`focal_levels` must be an int or a sequence of 4 ints'),
    (dict(focal_windows=[9, 9]), r'`focal_windows` must be an int or a sequence of 4 ints'),
    (dict(focal_windows=8), r'`focal_windows`\[0\]=8 .* kernel sizes \[8, 10\]; depth-wise kernels must be odd'),
    (dict(focal_windows=[9, 9, 9, 4]), r'`focal_windows`\[3\]=4'),
    (dict(focal_levels=0), r'`focal_levels` must be >= 1'),
    (dict(out_indices=(0, 4)), r'`out_indices` must be non-empty with values in \[0, 3\], got \(0, 4\)'),
    (dict(out_indices=()), r'`out_indices` must be non-empty'),
    (dict(out_indices=(-1,)), r'`out_indices`'),
    (dict(frozen_stages=5), r'`frozen_stages` must be in \[-1, 4\], got 5'),
    (dict(frozen_stages=-2), r'`frozen_stages` must be in \[-1, 4\], got -2'),
    (dict(drop_path_rate=-0.1), r'`drop_path_rate` must be in \[0, 1\), got -0.1'),
    (dict(drop_path_rate=1.0), r'`drop_path_rate` must be in \[0, 1\), got 1.0'),
    (dict(drop_rate=2), r'`drop_rate` must be in \[0, 1\)'),
    (dict(in_channels=0), r'`in_channels` must be a positive int, got 0'),
    (dict(embed_dims=-8), r'`embed_dims` must be a positive int, got -8'),
    (dict(depths=(2, 0, 6, 2)), r'`depths` must be positive ints'),
    (dict(mlp_ratio=0), r'`mlp_ratio` must be > 0'),
])
def test_invalid_configuration_fails_at_construction(kwargs, needle):
    with pytest.raises((ValueError, TypeError), match=needle):
        FocalNet(**kwargs)


def test_registry_build_reports_the_argument():
    """Through mmdet's registry the message survives (mmengine wraps it with the class name)."""
    import focalnet_mm  # noqa: F401
    from mmdet.registry import MODELS
    with pytest.raises(ValueError, match=r'focal_windows.*odd'):
        MODELS.build(dict(type='FocalNet', arch='tiny-srf', focal_windows=10))
