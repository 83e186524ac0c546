# Demo: UPerNet FocalNet-L (fl4) (configs/mmseg/upernet_focalnet-l-fl4_8xb2-160k_ade20k-640x640.py)
# on the ADE20K-layout demo data (../_base_/demo/ade20k.py), batch 2.
_base_ = ['../mmseg/upernet_focalnet-l-fl4_8xb2-160k_ade20k-640x640.py', '../_base_/demo/ade20k.py']
globals().update(_base_.pop('recipe').upernet_640)
