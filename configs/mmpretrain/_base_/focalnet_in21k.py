# FocalNet ImageNet-22k (21842 classes) classification in mmpretrain: the ImageNet-1k base
# (`focalnet_in1k.py`) with the 22k head and data. The published L/XL checkpoints are at 384 px,
# the H ones at 224 px (the variant configs set the resolution).
#
# Class order: the official 22k label map is reordered so that its first 1000 logits are the
# ImageNet-1k classes (ImageNet-1k label 850 has no 22k twin). mmpretrain's ImageNet21k dataset
# reads `data/imagenet21k/meta/{train,val}.txt` (file + label per line, labels in that order); no
# official 22k validation split exists: `meta/val.txt` is the held-out list you evaluate on.
_base_ = ['./focalnet_in1k.py']

num_classes = 21842
data_preprocessor = dict(num_classes=num_classes)
model = dict(head=dict(num_classes=num_classes))

train_dataloader = dict(
    dataset=dict(type='ImageNet21k', data_root='data/imagenet21k', split='train'))
val_dataloader = dict(
    dataset=dict(type='ImageNet21k', data_root='data/imagenet21k', split='',
                 ann_file='meta/val.txt', data_prefix='val'))
test_dataloader = val_dataloader
