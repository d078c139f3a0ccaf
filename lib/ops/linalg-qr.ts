/** torch.linalg (qr): qr, householderProduct, lstsq. Exported as `antler.linalg.*` (lib/ops/linalg.ts). */
export {};
