"""Model plumbing shared by the trainer, the curator and the critic.

- `refs`: what `model:` in intern.yaml may name, turned into something `from_pretrained` loads
  (`materialize_model`); packaged models by name.
- `tiny`: the embedded tiny model (`embedded:tiny`), built here with no download.
- `conversion`: a GGUF file converted once into a plain safetensors folder.
- `tokens`: special tokens read from a tokenizer and its chat template (end of turn, eos, pad).
- `loading`: loading a materialized reference on the right device.
- `sampling`: batched, seeded generation for evaluation (transformers or vLLM).
- `environment`: process-wide settings of the Hugging Face libraries (offline flags, progress bars).
- `errors`: the errors a model reference raises.
"""
