num_pes: 168
l1_size_cstr: 256
l2_size_cstr: 108000
noc_bw_cstr: 32
NoC_NumHops: 2
offchip_bw_cstr: 16
