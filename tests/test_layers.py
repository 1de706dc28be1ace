"""The numpy layers of motion_core/patterns/layers.py against torch's, on random weights."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

from motion_core.patterns import layers as L  # noqa: E402


def _np(t):
    return t.detach().numpy()


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


@pytest.mark.parametrize("k,s,p,mode", [(3, 1, 1, "zeros"), (4, 2, 1, "zeros"), (3, 2, 1, "reflect"),
                                        (1, 1, 0, "zeros"), (5, 1, 2, "replicate")])
def test_conv2d(k, s, p, mode):
    m = nn.Conv2d(5, 7, k, s, p, padding_mode=mode)
    x = torch.randn(2, 5, 16, 12)
    got = L.conv2d(_np(x), _np(m.weight), _np(m.bias), s, p, mode)
    assert np.allclose(got, _np(m(x)), atol=1e-5)


@pytest.mark.parametrize("fn,shape,cout,k,s,p",
                         [("conv_transpose2d", (2, 6, 5, 7), 4, *ksp) for ksp in [(4, 2, 1), (4, 1, 0), (3, 1, 1)]]
                         + [("conv_transpose2d_subpixel", (2, 5, 9, 6), 7, *ksp)
                            for ksp in [(4, 2, 1), (4, 1, 0), (3, 1, 1), (3, 2, 1), (5, 3, 2), (4, 2, 0)]])
def test_conv_transpose2d(fn, shape, cout, k, s, p):
    """Both numpy transposed convolutions (direct and sub-pixel) against torch's."""
    m = nn.ConvTranspose2d(shape[1], cout, k, s, p)
    x = torch.randn(*shape)
    got = getattr(L, fn)(_np(x), _np(m.weight), _np(m.bias), s, p)
    assert got.shape == tuple(m(x).shape)
    assert np.allclose(got, _np(m(x)), atol=1e-5)


def test_batch_and_instance_norm():
    bn = nn.BatchNorm2d(4)
    bn.running_mean.uniform_(-1, 1)
    bn.running_var.uniform_(0.5, 2)
    bn.weight.data.uniform_(0.5, 1.5)
    bn.bias.data.uniform_(-1, 1)
    bn.eval()
    x = torch.randn(3, 4, 6, 6)
    assert np.allclose(L.batch_norm(_np(x), _np(bn.running_mean), _np(bn.running_var), _np(bn.weight), _np(bn.bias)),
                       _np(bn(x)), atol=1e-5)
    inn = nn.InstanceNorm2d(4, affine=True)
    inn.weight.data.uniform_(0.5, 1.5)
    assert np.allclose(L.instance_norm(_np(x), _np(inn.weight), _np(inn.bias)), _np(inn(x)), atol=1e-5)


def test_activations_and_layer_norm():
    x = torch.randn(4, 9) * 3
    assert np.allclose(L.gelu(_np(x)), _np(nn.GELU()(x)), atol=1e-5)
    assert np.allclose(L.leaky_relu(_np(x)), _np(nn.LeakyReLU(0.2)(x)), atol=1e-6)
    assert np.allclose(L.sigmoid(_np(x)), _np(torch.sigmoid(x)), atol=1e-6)
    assert np.allclose(L.elu(_np(x)), _np(nn.ELU()(x)), atol=1e-6)
    ln = nn.LayerNorm(9)
    ln.weight.data.uniform_(0.5, 1.5)
    assert np.allclose(L.layer_norm(_np(x), _np(ln.weight), _np(ln.bias)), _np(ln(x)), atol=1e-5)


def test_self_attention_matches_torch_formula():
    c, cq = 8, 2
    q, k, v = nn.Conv2d(c, cq, 1), nn.Conv2d(c, cq, 1), nn.Conv2d(c, c, 1)
    x = torch.randn(2, c, 5, 4)
    n, _, h, w = x.shape
    qq, kk, vv = (m(x).flatten(2).transpose(1, 2) for m in (q, k, v))
    a = torch.softmax(qq @ kk.transpose(1, 2) / cq ** 0.5, dim=-1)
    ref = x + 0.7 * (a @ vv).transpose(1, 2).reshape(n, c, h, w)
    got = L.self_attention(_np(x), _np(q.weight), _np(q.bias), _np(k.weight), _np(k.bias), _np(v.weight),
                           _np(v.bias), 0.7)
    assert np.allclose(got, _np(ref), atol=1e-5)


def test_multi_head_attention_with_padding():
    m = nn.MultiheadAttention(16, 4, batch_first=True)
    q, kv = torch.randn(2, 3, 16), torch.randn(2, 5, 16)
    mask = torch.tensor([[False] * 5, [False, False, False, True, True]])
    ref, _ = m(q, kv, kv, key_padding_mask=mask)
    got = L.multi_head_attention(_np(q), _np(kv), _np(m.in_proj_weight), _np(m.in_proj_bias),
                                 _np(m.out_proj.weight), _np(m.out_proj.bias), 4, mask.numpy())
    assert np.allclose(got, _np(ref), atol=1e-5)


def test_bilstm():
    m = nn.LSTM(6, 5, batch_first=True, bidirectional=True)
    x = torch.randn(2, 7, 6)
    ref, _ = m(x)
    sd = {k: _np(v) for k, v in m.state_dict().items()}
    assert np.allclose(L.bilstm(_np(x), sd), _np(ref), atol=1e-5)
