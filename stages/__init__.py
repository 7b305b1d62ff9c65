"""The three training stages (T2V pretraining, SFT, RL), imported as `nsp.stages`.

They share one training engine; a stage differs only in its data, its trainable set (`nsp.model.STAGE_TRAINABLE`)
and its loss or rollout. Example configs live in `stages/configs/`."""
