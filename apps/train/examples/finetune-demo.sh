#!/bin/sh
# The fine-tuning demo: LoRA-tune the `npm start` model (runs/default, trained first if absent) on the built-in
# story-instruct set, then score base and base + adapter side by side on unseen stories.
# Run from anywhere: sh apps/train/examples/finetune-demo.sh   (or npm run demo:finetune -w @andes/train)
set -e
cd "$(dirname "$0")/../../.."
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp}"
if [ ! -f runs/default/model/config.json ]; then
  node apps/train/bin/andes-train.js
fi
node apps/train/bin/andes-train.js finetune --model runs/default --data builtin:story-instruct --format chat-jsonl \
  --out runs/story-instruct --steps 200 --batch-size 8 --lr 1e-2 \
  --lora-r 8 --lora-alpha 16 --lora-targets q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj \
  --eval-interval 100 --merge --backend cpu
node apps/eval/bin/andes-eval.js tasks --model runs/default/model --lora runs/story-instruct/adapter \
  --tasks story-instruct --max-gen-tokens 12 --backend cpu
