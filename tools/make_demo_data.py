#!/usr/bin/env python
"""Generate the synthetic demo datasets (COCO and ADE20K layouts) under ``data/demo``.

    python tools/make_demo_data.py [--root data/demo] [--force] [--seed 0]

Idempotent: does nothing when the data are already there (same generator version and sizes),
unless ``--force``.
"""
import argparse

from focalnet_mm.demo_data import DEFAULT_ROOT, DemoDataConfig, make_demo_data


def main(argv=None) -> None:
    defaults = DemoDataConfig()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--root', default=DEFAULT_ROOT, help='output folder (default %(default)s)')
    parser.add_argument('--force', action='store_true', help='regenerate even if up to date')
    parser.add_argument('--seed', type=int, default=defaults.seed)
    for name in ('coco_train', 'coco_val', 'ade_train', 'ade_val'):
        parser.add_argument('--' + name.replace('_', '-'), type=int, default=getattr(defaults, name),
                            help='number of images (default %(default)s)')
    args = parser.parse_args(argv)
    cfg = DemoDataConfig(seed=args.seed, coco_train=args.coco_train, coco_val=args.coco_val,
                         ade_train=args.ade_train, ade_val=args.ade_val)
    make_demo_data(args.root, force=args.force, cfg=cfg)


if __name__ == '__main__':
    main()
