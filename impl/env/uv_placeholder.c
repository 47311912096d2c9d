int weir_uv_placeholder;
