"""finetune-mcp's GPU trainer: SFT or DPO with LoRA (PEFT + TRL) from a finetune-mcp TrainingSpec.

The pure parts (spec parsing, data formatting, DPO pair building, argument mapping, the event
log) import nothing beyond the standard library, so they run and are tested anywhere; torch,
transformers, peft and trl are imported only by ``train.run_training``.
"""
