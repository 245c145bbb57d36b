"""The registers a school submits to its authority (第十二条), and its graduation roster (第二十四条):

- registers: the kinds of register, the columns of the 增减登记表, the school year and the units;
- counts: what each register counts, per school and per unit above;
- output: the registers printed (PDF) and exported (XLSX);
- submissions: the school's submission of its registers, kept as submitted, on time or late.
"""
