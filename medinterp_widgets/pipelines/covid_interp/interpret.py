"""What the trained AlexNet looks at: first-layer filters, hidden neurons, Grad-CAM, consistent degree.

Hidden-layer guided backprop goes through the attribution engine's ``hidden_unit_attribution``
(``LayerOutput`` + ``ChannelTarget``): d a[channel, i, j] / d x with guided ReLUs, for the neuron
(i, j) where its channel responds most strongly to the image.

Consistent degree (paper, section on support regions): CD = |S ∩ L| / |L| with S = {Grad-CAM >= 0.7
after min-max scaling} and L the radiologist's lesion mask (``metrics.consistent_degree``). Two chance
levels, the expected CD of a support region of the same size |S| placed uniformly at random:

- anywhere in the image (N pixels): E[CD] = |S| / N, the support's area share (``support_area``);
- inside the lung fields F (``lungs.lung_mask``), the stricter one, since a map that merely covers the
  lungs beats the first: for |S| <= |F|, E[CD] = (|S| / |F|) |L ∩ F| / |L|; for |S| > |F|, S holds all
  of F and the rest at random outside: E[CD] = (|L ∩ F| + (|S| - |F|) |L - F| / (N - |F|)) / |L|
  (``chance_in_lungs``).
"""

from __future__ import annotations

import cv2
import numpy as np
import torch
from torch import nn

from medinterp_widgets import metrics
from medinterp_widgets.attribution import LayerOutput, attribute, hidden_unit_attribution
from medinterp_widgets.data.images import resize_labels
from medinterp_widgets.models.modes import eval_mode

COVID_CLASS = 1


def conv_activation_layers(model: nn.Module) -> list[str]:
    """Names of the ReLUs that follow each convolution, in forward order (AlexNet: features.1 ... 11)."""
    names = [name for name, _ in model.named_modules()]
    modules = dict(model.named_modules())
    layers = []
    for previous, name in zip(names, names[1:]):
        if isinstance(modules[previous], nn.Conv2d) and isinstance(modules[name], nn.ReLU):
            layers.append(name)
    return layers


def strongest_location(activation: torch.Tensor, channel: int) -> tuple[int, int]:
    """(row, col) of the largest value of ``activation[0, channel]`` (activation (1, C, h, w))."""
    plane = activation[0, channel]  # (h, w)
    flat = int(torch.argmax(plane))
    return divmod(flat, plane.shape[1])


def neuron_guided_backprop(model: nn.Module, image: torch.Tensor, layer: str, channel: int) -> np.ndarray:
    """Guided backprop of one hidden neuron (``channel`` at its strongest location) -> (H, W) float32.

    image: (1, C, H, W) on the model's device. The model is run in eval mode and restored.
    """
    with eval_mode(model):
        with torch.no_grad():
            location = strongest_location(LayerOutput(model, layer)(image), channel)
        maps = hidden_unit_attribution(model, image, layer=layer, channel=channel, index=location,
                                       method="guided_backprop")
    return maps[0].detach().cpu().numpy()  # (H, W)


def hidden_neuron_maps(model: nn.Module, image: torch.Tensor, neurons_per_layer: int, seed: int = 0
                       ) -> list[dict]:
    """Guided backprop of ``neurons_per_layer`` random channels of every conv layer on one image.

    Returns rows ``{"layer", "channel", "map" (H, W)}`` in layer order.
    """
    rng = np.random.default_rng(seed)
    modules = dict(model.named_modules())
    rows = []
    for layer in conv_activation_layers(model):
        conv_name = _conv_before(model, layer)
        channels = modules[conv_name].out_channels
        for channel in sorted(rng.choice(channels, size=min(neurons_per_layer, channels), replace=False).tolist()):
            rows.append({"layer": layer, "channel": channel,
                         "map": neuron_guided_backprop(model, image, layer, channel)})
    return rows


def strongest_neuron_maps(model: nn.Module, images: torch.Tensor, layers: list[str] | None = None) -> list[dict]:
    """Per image and conv layer: guided backprop of the channel with the largest activation anywhere,
    at that location (Fig. 10's "what each layer sees"). images (n, C, H, W) on the model's device.

    Returns rows ``{"image": i, "layer", "channel", "map" (H, W)}`` image by image, layers in order.
    """
    rows = []
    with eval_mode(model):
        for index in range(len(images)):
            image = images[index:index + 1]  # (1, C, H, W)
            for layer in layers or conv_activation_layers(model):
                with torch.no_grad():
                    activation = LayerOutput(model, layer)(image)  # (1, K, h, w)
                channel = int(activation[0].flatten(1).amax(dim=1).argmax())
                rows.append({"image": index, "layer": layer, "channel": channel,
                             "map": neuron_guided_backprop(model, image, layer, channel)})
    return rows


def _conv_before(model: nn.Module, layer: str) -> str:
    names = [name for name, _ in model.named_modules()]
    return names[names.index(layer) - 1]


def first_layer_filters(model: nn.Module) -> np.ndarray:
    """The first convolution's kernels (out, in, k, k) averaged over input channels -> (out, k, k)."""
    first = next(module for module in model.modules() if isinstance(module, nn.Conv2d))
    return first.weight.detach().float().mean(dim=1).cpu().numpy()


def gradcam_maps(model: nn.Module, images: torch.Tensor, target: int = COVID_CLASS, batch_size: int = 16,
                 layer: str | None = None, method: str = "gradcam") -> tuple[np.ndarray, np.ndarray]:
    """Grad-CAM (or another ``method``) of class ``target`` at ``layer`` (default: the model's cam layer),
    upsampled to the input: (N, H, W), and P(target) (N,).

    Runs in eval mode (dropout off) and restores the model's mode.
    """
    device = next(model.parameters()).device
    maps, probabilities = [], []
    with eval_mode(model):
        for start in range(0, len(images), batch_size):
            batch = images[start:start + batch_size].to(device)  # (b, C, H, W)
            maps.append(attribute(model, batch, method=method, target=target, layer=layer).detach().float().cpu())
            with torch.no_grad():
                probabilities.append(torch.softmax(model(batch).float(), dim=1)[:, target].cpu())
    return torch.cat(maps).numpy(), torch.cat(probabilities).numpy()


def support_area(heatmap: np.ndarray, threshold: float = 0.7) -> float:
    """Share of the image in the support S = {minmax(h) >= threshold} (the consistent degree's chance level)."""
    unit = metrics.normalise_unit(heatmap)
    return float(np.mean((unit >= threshold) & (unit > 0)))


def chance_in_lungs(support_pixels: float, lesion: np.ndarray, field: np.ndarray) -> float:
    """Expected consistent degree of ``support_pixels`` pixels placed at random inside the lung ``field``
    (filled at random outside once the field is full); nan for an empty lesion (module docstring)."""
    lesion, field = np.asarray(lesion) > 0, np.asarray(field) > 0
    if lesion.shape != field.shape:
        raise ValueError(f"chance_in_lungs: lesion {lesion.shape} and field {field.shape} differ in shape")
    lesion_size, field_size, total = lesion.sum(), field.sum(), lesion.size
    if lesion_size == 0:
        return float("nan")
    inside = float((lesion & field).sum())
    if field_size == 0 or support_pixels > field_size:
        outside = (support_pixels - field_size) / max(total - field_size, 1)
        return float((inside + outside * (lesion_size - inside)) / lesion_size)
    return float(support_pixels / field_size * inside / lesion_size)


def native_lung_chance(maps: np.ndarray, lesions: list[np.ndarray], fields: np.ndarray,
                       threshold: float = 0.7) -> tuple[np.ndarray, np.ndarray]:
    """Per map at its lesion mask's native size: ``chance_in_lungs`` of its support, and the share of the
    support inside the lung field (nan for an empty support). ``fields`` (N, S, S) bool lung fields of the
    network-size pictures, resized (nearest, on pixel centres as the maps' bilinear resize)."""
    chances, inside = [], []
    for heat, lesion, field in zip(maps, lesions, fields):
        size = (lesion.shape[1], lesion.shape[0])
        unit = metrics.normalise_unit(cv2.resize(np.asarray(heat, np.float32), size, interpolation=cv2.INTER_LINEAR))
        support = (unit >= threshold) & (unit > 0)
        native_field = resize_labels(np.asarray(field, np.uint8), lesion.shape) > 0
        chances.append(chance_in_lungs(float(support.sum()), lesion, native_field))
        inside.append(float((support & native_field).sum() / support.sum()) if support.any() else float("nan"))
    return np.array(chances), np.array(inside)


def native_scores(maps: np.ndarray, lesions: list[np.ndarray], threshold: float = 0.7
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Consistent degree and support area of each map (H, W) resized (bilinear) to its lesion mask's own
    shape, so slices of any size are scored at their native resolution."""
    degrees, areas = [], []
    for heat, lesion in zip(maps, lesions):
        native = cv2.resize(np.asarray(heat, np.float32), (lesion.shape[1], lesion.shape[0]),
                            interpolation=cv2.INTER_LINEAR)
        degrees.append(metrics.consistent_degree(native, lesion > 0, threshold=threshold))
        areas.append(support_area(native, threshold))
    return np.array(degrees), np.array(areas)


def consistent_degrees(heatmaps: np.ndarray, lesions: np.ndarray, threshold: float = 0.7
                       ) -> tuple[np.ndarray, np.ndarray]:
    """Per slice: consistent degree |S ∩ L| / |L| and the support's area fraction |S| / |image|.

    The area fraction is the chance level: a support region placed at random covers that share of
    the lesion on average.
    """
    degrees = np.array([metrics.consistent_degree(h, m, threshold=threshold) for h, m in zip(heatmaps, lesions)])
    return degrees, np.array([support_area(h, threshold) for h in heatmaps])
