"""GapFCN's GAP context block and CAM (Eq. 2), pinned on values that can be worked out by hand."""

import math

import pytest
import torch

from medinterp_widgets.attribution import attribute
from medinterp_widgets.models import GapFCN
from medinterp_widgets.models.gap_fcn import L2Norm


def test_l2norm_by_hand():
    norm = L2Norm(2, init_scale=3.0)
    x = torch.tensor([[[[3.0]], [[4.0]]]])  # (1, 2, 1, 1): ||(3, 4)|| = 5
    assert norm(x).flatten().tolist() == pytest.approx([3 * 3 / 5, 3 * 4 / 5])
    assert L2Norm(16).scale[0].item() == pytest.approx(4.0)  # default gamma = sqrt(K): unit RMS per element


def test_cam_logits_average_to_the_image_logits_and_match_eq2():
    torch.manual_seed(0)
    model = GapFCN(base_channels=4, depth=2, convs_per_stage=1).eval()
    x = torch.rand(2, 1, 16, 16)
    with torch.no_grad():
        out = model(x, with_cam=True)
        features = model.bottleneck(model.pool(model.encoder[1](model.pool(model.encoder[0](x))[0]))[0])  # A
    assert out.segmentation.shape == (2, 2, 16, 16) and out.cam_logits.shape == (2, 2, 4, 4)
    # GAP is linear: mean over cells of (sum_k w_ck A_k + b_c) = w_c . GAP(A) + b_c
    torch.testing.assert_close(out.cam_logits.mean(dim=(2, 3)), out.image_logits, rtol=1e-5, atol=1e-6)
    eq2 = torch.einsum("ck,bkhw->bchw", model.cam_head.weight, features)  # CAM_c = sum_k w_ck A_k
    torch.testing.assert_close(out.cam_logits - model.cam_head.bias[None, :, None, None], eq2, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(model(x), out.segmentation)
    engine = attribute(model, x, method="cam", target=1, relu=False, normalize=None)  # (2, 16, 16), upsampled
    assert engine.shape == (2, 16, 16)


def test_context_is_normalised_and_broadcast_before_concatenation():
    torch.manual_seed(0)
    model = GapFCN(base_channels=2, depth=1, convs_per_stage=1, batch_norm=False).eval()
    seen = {}

    def keep_input(_module, inputs, _output):
        seen["fused_input"] = inputs[0]

    model.fuse.register_forward_hook(keep_input)
    model(torch.rand(1, 1, 8, 8))
    local, context = seen["fused_input"].chunk(2, dim=1)  # (1, K, h, w) each
    k = local.shape[1]
    assert torch.allclose(context, context[..., :1, :1].expand_as(context))  # one vector at every cell
    assert torch.linalg.vector_norm(context[0, :, 0, 0]).item() == pytest.approx(math.sqrt(k), rel=1e-5)
    norms = torch.linalg.vector_norm(local, dim=1)
    assert torch.allclose(norms[norms > 0], torch.full_like(norms[norms > 0], math.sqrt(k)), rtol=1e-4)


def test_context_norm_none_and_bad_value():
    assert isinstance(GapFCN(base_channels=2, depth=1, context_norm="none").context_norm, torch.nn.Identity)
    with pytest.raises(ValueError, match="context_norm"):
        GapFCN(context_norm="batch")
