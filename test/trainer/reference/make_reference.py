"""Reference values for the trainer's optimiser tests, computed by PyTorch (Debian python3-torch 1.13.1).

Run: /usr/bin/python3 test/trainer/reference/make_reference.py > test/trainer/reference/torch-adamw.json
The gradients and initial weights are closed-form, so the TypeScript test rebuilds them exactly.
"""
import json, math
import torch

torch.set_default_dtype(torch.float32)
sizes = [6, 10, 4]

def init(i, j):
    return math.cos(0.1 * j + i)

def grad(t, i, j):
    return 3.0 * math.sin(0.37 * (t + 1) * (j + 1) + i)

params = [torch.tensor([init(i, j) for j in range(n)], dtype=torch.float32, requires_grad=True) for i, n in enumerate(sizes)]
lrs = [0.0, 0.01, 0.02, 0.03, 0.03, 0.025, 0.02, 0.015, 0.01, 0.005, 0.002, 0.001]
opt = torch.optim.AdamW(
    [{"params": params[:2], "weight_decay": 0.1}, {"params": params[2:], "weight_decay": 0.0}],
    lr=lrs[0], betas=(0.9, 0.95), eps=1e-8,
)
steps = []
for t, lr in enumerate(lrs):
    for i, p in enumerate(params):
        p.grad = torch.tensor([grad(t, i, j) for j in range(p.numel())], dtype=torch.float32)
    norm = torch.nn.utils.clip_grad_norm_(params, max_norm=1.0)
    for group in opt.param_groups:
        group["lr"] = lr
    opt.step()
    steps.append({"lr": lr, "grad_norm": float(norm), "params": [p.detach().tolist() for p in params]})

def schedule(kind, total, warmup, base=1.0):
    # Post-warmup decay from torch's own schedulers (an independent implementation of the curves).
    p = torch.nn.Parameter(torch.zeros(1))
    o = torch.optim.SGD([p], lr=base)
    n = total - warmup
    if kind == "cosine":
        s = torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=n, eta_min=0.0)
    else:
        s = torch.optim.lr_scheduler.LinearLR(o, start_factor=1.0, end_factor=0.0, total_iters=n)
    out = []
    for _ in range(n + 1):
        out.append(o.param_groups[0]["lr"])
        o.step(); s.step()
    return out

print(json.dumps({
    "torch_version": torch.__version__,
    "adamw": {"sizes": sizes, "betas": [0.9, 0.95], "eps": 1e-8, "weight_decay": [0.1, 0.1, 0.0], "max_grad_norm": 1.0, "steps": steps},
    "schedules": {
        "cosine_total20_warmup4": schedule("cosine", 20, 4, 2e-4),
        "linear_total20_warmup4": schedule("linear", 20, 4, 2e-4),
    },
}))
