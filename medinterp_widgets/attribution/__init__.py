"""Attribution engine: CAM family, gradient methods, perturbation methods, sanity checks."""
