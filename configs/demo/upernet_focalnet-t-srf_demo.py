# Demo: UPerNet FocalNet-T (srf) (configs/mmseg/upernet_focalnet-t-srf_8xb2-160k_ade20k-512x512.py)
# on the ADE20K-layout demo data (../_base_/demo/ade20k.py). Run by `make demo` (tools/run_demo.py);
# also works with tools/train.py and tools/test.py.
_base_ = ['../mmseg/upernet_focalnet-t-srf_8xb2-160k_ade20k-512x512.py', '../_base_/demo/ade20k.py']
globals().update(_base_.pop('recipe').upernet_512)
