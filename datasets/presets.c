/* presets.c - model shape presets. Each number is from the model's published configuration
 * (its config.json on the Hugging Face hub, or the paper), named in the description. The
 * attention axes describe one layer's attention (heads, GQA kv heads, head dim); the GEMM axes
 * (k, n) the layer's projections; the MoE axes the expert layer. */
#include "datasets/presets.h"

#include <ctype.h>
#include <string.h>

static const struct kb_preset presets[] = {
    { "llama3-8b",
      "Llama-3-8B: hidden 4096, 32 heads, 8 KV heads, head dim 128, FFN 14336 "
      "(meta-llama/Meta-Llama-3-8B config.json)",
      { { "heads", "32" }, { "kv_heads", "8" }, { "head_dim", "128" }, { "hidden", "4096" },
        { "ffn", "14336" }, { "k", "4096" }, { "n", "4096" }, { NULL, NULL } } },
    { "llama3-70b",
      "Llama-3-70B: hidden 8192, 64 heads, 8 KV heads, head dim 128, FFN 28672 "
      "(meta-llama/Meta-Llama-3-70B config.json)",
      { { "heads", "64" }, { "kv_heads", "8" }, { "head_dim", "128" }, { "hidden", "8192" },
        { "ffn", "28672" }, { "k", "8192" }, { "n", "8192" }, { NULL, NULL } } },
    { "mistral-7b",
      "Mistral-7B v0.1: hidden 4096, 32 heads, 8 KV heads, head dim 128, sliding window 4096, "
      "FFN 14336 (Jiang et al. 2023, Table 1)",
      { { "heads", "32" }, { "kv_heads", "8" }, { "head_dim", "128" }, { "window", "4096" },
        { "hidden", "4096" }, { "ffn", "14336" }, { "k", "4096" }, { "n", "4096" }, { NULL, NULL } } },
    { "vit-b16",
      "ViT-B/16 at 224x224: 196 patches + class token = 197 tokens, hidden 768, 12 heads, "
      "head dim 64, MLP 3072 (Dosovitskiy et al. 2021, Table 1); the I-ViT benchmark model",
      { { "seq", "197" }, { "heads", "12" }, { "head_dim", "64" }, { "hidden", "768" },
        { "ffn", "3072" }, { "m", "197" }, { "k", "768" }, { "n", "768" }, { NULL, NULL } } },
    { "video-dit",
      "Long-video DiT, Wan2.1-14B at 1280x720, 121 frames: VAE 4x8x8 -> 31x90x160 latents, "
      "patch 1x2x2 -> 31x45x80 = 111600 tokens; hidden 5120, 40 heads, head dim 128 "
      "(Wan-AI/Wan2.1-T2V-14B config.json)",
      { { "seq", "111600" }, { "heads", "40" }, { "head_dim", "128" }, { "hidden", "5120" },
        { "k", "5120" }, { "n", "5120" }, { NULL, NULL } } },
    { "mixtral-8x7b",
      "Mixtral-8x7B MoE layer: hidden 4096, expert FFN 14336, 8 experts, top-2; attention 32 "
      "heads, 8 KV heads, head dim 128 (mistralai/Mixtral-8x7B-v0.1 config.json)",
      { { "hidden", "4096" }, { "ffn", "14336" }, { "experts", "8" }, { "top_k", "2" },
        { "heads", "32" }, { "kv_heads", "8" }, { "head_dim", "128" }, { NULL, NULL } } },
    { "deepseek-v3",
      "DeepSeek-V3 MoE layer: hidden 7168, expert FFN 2048 (moe_intermediate_size), 256 routed "
      "experts, top-8 (deepseek-ai/DeepSeek-V3 config.json; the shared expert not included)",
      { { "hidden", "7168" }, { "ffn", "2048" }, { "experts", "256" }, { "top_k", "8" },
        { NULL, NULL } } },
    { "qwen3-30b-a3b",
      "Qwen3-30B-A3B MoE layer: hidden 2048, expert FFN 768, 128 experts, top-8; attention 32 "
      "heads, 4 KV heads, head dim 128 (Qwen/Qwen3-30B-A3B config.json)",
      { { "hidden", "2048" }, { "ffn", "768" }, { "experts", "128" }, { "top_k", "8" },
        { "heads", "32" }, { "kv_heads", "4" }, { "head_dim", "128" }, { NULL, NULL } } },
};

const struct kb_preset *kb_presets(size_t *n)
{
    *n = sizeof presets / sizeof presets[0];
    return presets;
}

/* Compares letters and digits only, ignoring case: a model is written "Llama-3-8B" on its card,
 * "llama3-8b" here, "ViT-B/16" in its paper. The presets stay distinct under this rule. */
static int same_model_name(const char *a, const char *b)
{
    for (;;) {
        while (*a && !isalnum((unsigned char)*a))
            a++;
        while (*b && !isalnum((unsigned char)*b))
            b++;
        if (!*a || !*b)
            return !*a && !*b;
        if (tolower((unsigned char)*a) != tolower((unsigned char)*b))
            return 0;
        a++, b++;
    }
}

const struct kb_preset *kb_preset_find(const char *name)
{
    for (size_t i = 0; i < sizeof presets / sizeof presets[0]; i++)
        if (same_model_name(presets[i].name, name))
            return &presets[i];
    return NULL;
}
