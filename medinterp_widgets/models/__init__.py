"""Models built from scratch (no torchvision): GapFCN, UNet, VGGClassifier, AlexNetClassifier."""
