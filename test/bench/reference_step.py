#!/usr/bin/python3
"""The reference MUNIT iteration in PyTorch, timed, for `npm run bench` to print beside our figures.

Debian's python3-torch. The networks are the reference's, as written out layer for layer in
test/fixtures/pytorch/make_fixtures.py; dis_update and gen_update follow the reference trainer.py with the
edges2shoes_folder.yaml defaults (lsgan, recon_x_w 10, Adam(0.5, 0.999), weight decay 1e-4).
`--device cuda` runs it on the GPU (the bench does so for a GPU engine), synchronising before each time is taken.
Prints one JSON line: {"train_N": seconds, "train_N_cpu_ms": this process's CPU milliseconds per run, ...,
"translate_N": ..., "device": "...", "torch": "..."}.
"""
import argparse
import json
import os
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'fixtures', 'pytorch'))
import make_fixtures as ref  # noqa: E402  (the reference's modules)

torch.set_default_dtype(torch.float32)

GEN = dict(dim=64, mlp_dim=256, style_dim=8, activ='relu', n_downsample=2, n_res=4, pad_type='reflect')
DIS = dict(dim=64, norm='none', activ='lrelu', n_layer=4, gan_type='lsgan', num_scales=3, pad_type='reflect')
HP = dict(gan_w=1, recon_x_w=10, recon_s_w=1, recon_c_w=1, recon_x_cyc_w=0)


def encode(g, x):
    return g.enc_content(x), g.enc_style(x)


def dis_loss(d, fake, real):
    return sum(torch.mean(f ** 2) + torch.mean((r - 1) ** 2) for f, r in zip(d(fake), d(real)))


def gen_adv(d, fake):
    return sum(torch.mean((f - 1) ** 2) for f in d(fake))


DEVICE = torch.device('cpu')


def random_styles(x_a, x_b):
    return (torch.randn(x_a.size(0), GEN['style_dim'], 1, 1, device=DEVICE),
            torch.randn(x_b.size(0), GEN['style_dim'], 1, 1, device=DEVICE))


class Trainer:
    def __init__(self):
        self.gen_a, self.gen_b = ref.AdaINGen(3, GEN), ref.AdaINGen(3, GEN)
        self.dis_a, self.dis_b = ref.MsImageDis(3, DIS), ref.MsImageDis(3, DIS)
        for net in (self.gen_a, self.gen_b, self.dis_a, self.dis_b):
            net.to(DEVICE)
        adam = dict(lr=1e-4, betas=(0.5, 0.999), weight_decay=1e-4)
        self.gen_opt = torch.optim.Adam(list(self.gen_a.parameters()) + list(self.gen_b.parameters()), **adam)
        self.dis_opt = torch.optim.Adam(list(self.dis_a.parameters()) + list(self.dis_b.parameters()), **adam)

    def dis_update(self, x_a, x_b):
        self.dis_opt.zero_grad()
        s_a, s_b = random_styles(x_a, x_b)
        c_a, _ = encode(self.gen_a, x_a)
        c_b, _ = encode(self.gen_b, x_b)
        x_ba, x_ab = self.gen_a.decode(c_b, s_a), self.gen_b.decode(c_a, s_b)
        loss = HP['gan_w'] * (dis_loss(self.dis_a, x_ba.detach(), x_a) + dis_loss(self.dis_b, x_ab.detach(), x_b))
        loss.backward()
        self.dis_opt.step()

    def gen_update(self, x_a, x_b):
        self.gen_opt.zero_grad()
        s_a, s_b = random_styles(x_a, x_b)
        c_a, s_a_prime = encode(self.gen_a, x_a)
        c_b, s_b_prime = encode(self.gen_b, x_b)
        x_a_recon, x_b_recon = self.gen_a.decode(c_a, s_a_prime), self.gen_b.decode(c_b, s_b_prime)
        x_ba, x_ab = self.gen_a.decode(c_b, s_a), self.gen_b.decode(c_a, s_b)
        c_b_recon, s_a_recon = encode(self.gen_a, x_ba)
        c_a_recon, s_b_recon = encode(self.gen_b, x_ab)
        l1 = lambda a, b: torch.mean(torch.abs(a - b))  # noqa: E731
        loss = (HP['gan_w'] * (gen_adv(self.dis_a, x_ba) + gen_adv(self.dis_b, x_ab))
                + HP['recon_x_w'] * (l1(x_a_recon, x_a) + l1(x_b_recon, x_b))
                + HP['recon_s_w'] * (l1(s_a_recon, s_a) + l1(s_b_recon, s_b))
                + HP['recon_c_w'] * (l1(c_a_recon, c_a) + l1(c_b_recon, c_b)))
        loss.backward()
        self.gen_opt.step()


def median_time(iters, fn):
    """Median seconds of `iters` runs after two warm-ups (as the reference timing in munit-reference.md), and the
    process's CPU milliseconds per run."""
    def run():
        fn()
        if DEVICE.type == 'cuda':
            torch.cuda.synchronize()
    run()
    run()
    times = []
    cpu = time.process_time()
    for _ in range(iters):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    cpu_ms = (time.process_time() - cpu) * 1000 / iters
    times.sort()
    return round(times[len(times) // 2], 3), round(cpu_ms)


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--train', default='64,128')
    p.add_argument('--translate', default='128,256')
    p.add_argument('--iters', type=int, default=3)
    p.add_argument('--threads', type=int, default=os.cpu_count())
    p.add_argument('--device', choices=['cpu', 'cuda'], default='cpu')
    a = p.parse_args()
    global DEVICE
    DEVICE = torch.device(a.device)
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    t = Trainer()
    where = torch.cuda.get_device_name() if a.device == 'cuda' else f'{a.threads} threads'
    out = {'threads': a.threads, 'torch': torch.__version__, 'device': where}
    image = lambda size: torch.rand(1, 3, size, size, device=DEVICE) * 2 - 1  # noqa: E731
    for size in [int(s) for s in a.train.split(',') if s]:
        x_a, x_b = image(size), image(size)
        out[f'train_{size}'], out[f'train_{size}_cpu_ms'] = median_time(a.iters, lambda: (t.dis_update(x_a, x_b), t.gen_update(x_a, x_b)))
    for size in [int(s) for s in a.translate.split(',') if s]:
        x = image(size)

        def translate():
            with torch.no_grad():
                t.gen_b.decode(t.gen_a.enc_content(x), torch.randn(1, 8, 1, 1, device=DEVICE))
        out[f'translate_{size}'], out[f'translate_{size}_cpu_ms'] = median_time(a.iters, translate)
    print(json.dumps(out))


if __name__ == '__main__':
    main()
