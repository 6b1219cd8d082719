"""The names ``posewarp eval`` offers, without importing torch (the CLI's help reads them from here)."""

METRICS = ("ssim", "mask-ssim", "is", "mask-is", "fid", "lpips", "pckh")
DEFAULT_METRICS = ("ssim", "is", "fid", "lpips")
PROTOCOLS = ("patn", "gfla")  # protocols.PROTOCOLS holds what each one means
DEFAULT_PROTOCOL = "patn"
DEFAULT_BATCH_SIZE = 32  # image pairs per step
