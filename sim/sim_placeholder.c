int weir_sim_placeholder;
