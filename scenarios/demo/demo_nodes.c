/* placeholder */
int weir_demo_placeholder;
