// The Generate tab's messages and the model picker's.
export default {
    en: {
        "model.legend": "Model",
        "model.provider": "Provider",
        "model.name": "Model name",
        "model.placeholder": "e.g. gpt_4o_mini",
        "model.notConfigured": "{name} (not configured)",
    },
    "zh-CN": {
        "model.legend": "模型",
        "model.provider": "服务商",
        "model.name": "模型名称",
        "model.placeholder": "例如 gpt_4o_mini",
        "model.notConfigured": "{name}（未配置）",
    },
};
