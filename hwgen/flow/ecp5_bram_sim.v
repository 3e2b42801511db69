// hwgen: a behavioural model of the Lattice ECP5 DP16KD block RAM, for simulating the netlists
// that `synth_ecp5` writes (Yosys 0.70's share/ecp5/cells_sim.v declares DP16KD as a blackbox
// with no behaviour). hwgen/flow/fpga.py puts it in place of that blackbox, so the netlist that
// goes to nextpnr is the netlist that is simulated.
//
// Covered (what Yosys's memory_libmap mappings $__DP16KD_ and $__PDPW16KD_, techlibs/lattice/
// brams_map_16kd.v, produce; anything else stops the simulation at time 0 with an error, and
// hwgen.flow.fpga.check_bram_modes refuses it before building):
//   DATA_WIDTH_A/B 1, 2, 4, 9, 18 (true dual port) and 36 (pseudo dual port: A writes 36 bits,
//     DIA low and DIB high, byte enables on ADA3..0; B reads DATA_WIDTH_B bits, a 36-bit read
//     on {DOB, DOA}, narrower reads on DOB);
//   18-bit writes: byte enables on ADx1..0; narrower widths address every bit (ADx13..0);
//   REGMODE_A/B "NOREG" (the output is the read register, updated at a clock edge with CEx);
//   WRITEMODE_A/B "NORMAL" (output kept on a write), "WRITETHROUGH" (new data),
//     "READBEFOREWRITE" (old data);
//   RESETMODE "SYNC" or "ASYNC" (RSTx clears the port's output; sync at the clock edge, whatever
//     CEx, async at once); CSDECODE_A/B any "0bxyz" (a port works when CSx2..0 equal it);
//   CLKAMUX/CLKBMUX "CLKA"/"CLKB" (no inverted clocks); GSR and ASYNC_RESET_RELEASE ignored.
// Contents: 1024 words of 18 bits, INITVAL_xx holding words 16*xx .. 16*xx+15 in 20-bit slots
// (the 18 low bits of each used), as brams_map_16kd.v writes them. Narrow widths see the memory
// as 2,048 9-bit units (two a word), of which they use the 8 low bits (Yosys's memlib layout for
// "widths 1 2 4 9 18, byte 9"): a 1-bit address a is bit a%8 of unit a/8. A read and a write of
// the same word on the two ports at one clock edge read the old data (writes are nonblocking).
// Output at time 0: zero (Yosys's "rdinit zero").
`timescale 1ns/1ps
module DP16KD(
  input DIA17, DIA16, DIA15, DIA14, DIA13, DIA12, DIA11, DIA10, DIA9, DIA8, DIA7, DIA6, DIA5, DIA4, DIA3, DIA2, DIA1, DIA0,
  input ADA13, ADA12, ADA11, ADA10, ADA9, ADA8, ADA7, ADA6, ADA5, ADA4, ADA3, ADA2, ADA1, ADA0,
  input CEA, OCEA, CLKA, WEA, RSTA,
  input CSA2, CSA1, CSA0,
  output DOA17, DOA16, DOA15, DOA14, DOA13, DOA12, DOA11, DOA10, DOA9, DOA8, DOA7, DOA6, DOA5, DOA4, DOA3, DOA2, DOA1, DOA0,
  input DIB17, DIB16, DIB15, DIB14, DIB13, DIB12, DIB11, DIB10, DIB9, DIB8, DIB7, DIB6, DIB5, DIB4, DIB3, DIB2, DIB1, DIB0,
  input ADB13, ADB12, ADB11, ADB10, ADB9, ADB8, ADB7, ADB6, ADB5, ADB4, ADB3, ADB2, ADB1, ADB0,
  input CEB, OCEB, CLKB, WEB, RSTB,
  input CSB2, CSB1, CSB0,
  output DOB17, DOB16, DOB15, DOB14, DOB13, DOB12, DOB11, DOB10, DOB9, DOB8, DOB7, DOB6, DOB5, DOB4, DOB3, DOB2, DOB1, DOB0
);
  parameter DATA_WIDTH_A = 18;
  parameter DATA_WIDTH_B = 18;
  parameter REGMODE_A = "NOREG";
  parameter REGMODE_B = "NOREG";
  parameter RESETMODE = "SYNC";
  parameter ASYNC_RESET_RELEASE = "SYNC";
  parameter CSDECODE_A = "0b000";
  parameter CSDECODE_B = "0b000";
  parameter WRITEMODE_A = "NORMAL";
  parameter WRITEMODE_B = "NORMAL";
  parameter GSR = "ENABLED";
  parameter CLKAMUX = "CLKA";
  parameter CLKBMUX = "CLKB";
  parameter INITVAL_00 = 320'h0;
  parameter INITVAL_01 = 320'h0;
  parameter INITVAL_02 = 320'h0;
  parameter INITVAL_03 = 320'h0;
  parameter INITVAL_04 = 320'h0;
  parameter INITVAL_05 = 320'h0;
  parameter INITVAL_06 = 320'h0;
  parameter INITVAL_07 = 320'h0;
  parameter INITVAL_08 = 320'h0;
  parameter INITVAL_09 = 320'h0;
  parameter INITVAL_0A = 320'h0;
  parameter INITVAL_0B = 320'h0;
  parameter INITVAL_0C = 320'h0;
  parameter INITVAL_0D = 320'h0;
  parameter INITVAL_0E = 320'h0;
  parameter INITVAL_0F = 320'h0;
  parameter INITVAL_10 = 320'h0;
  parameter INITVAL_11 = 320'h0;
  parameter INITVAL_12 = 320'h0;
  parameter INITVAL_13 = 320'h0;
  parameter INITVAL_14 = 320'h0;
  parameter INITVAL_15 = 320'h0;
  parameter INITVAL_16 = 320'h0;
  parameter INITVAL_17 = 320'h0;
  parameter INITVAL_18 = 320'h0;
  parameter INITVAL_19 = 320'h0;
  parameter INITVAL_1A = 320'h0;
  parameter INITVAL_1B = 320'h0;
  parameter INITVAL_1C = 320'h0;
  parameter INITVAL_1D = 320'h0;
  parameter INITVAL_1E = 320'h0;
  parameter INITVAL_1F = 320'h0;
  parameter INITVAL_20 = 320'h0;
  parameter INITVAL_21 = 320'h0;
  parameter INITVAL_22 = 320'h0;
  parameter INITVAL_23 = 320'h0;
  parameter INITVAL_24 = 320'h0;
  parameter INITVAL_25 = 320'h0;
  parameter INITVAL_26 = 320'h0;
  parameter INITVAL_27 = 320'h0;
  parameter INITVAL_28 = 320'h0;
  parameter INITVAL_29 = 320'h0;
  parameter INITVAL_2A = 320'h0;
  parameter INITVAL_2B = 320'h0;
  parameter INITVAL_2C = 320'h0;
  parameter INITVAL_2D = 320'h0;
  parameter INITVAL_2E = 320'h0;
  parameter INITVAL_2F = 320'h0;
  parameter INITVAL_30 = 320'h0;
  parameter INITVAL_31 = 320'h0;
  parameter INITVAL_32 = 320'h0;
  parameter INITVAL_33 = 320'h0;
  parameter INITVAL_34 = 320'h0;
  parameter INITVAL_35 = 320'h0;
  parameter INITVAL_36 = 320'h0;
  parameter INITVAL_37 = 320'h0;
  parameter INITVAL_38 = 320'h0;
  parameter INITVAL_39 = 320'h0;
  parameter INITVAL_3A = 320'h0;
  parameter INITVAL_3B = 320'h0;
  parameter INITVAL_3C = 320'h0;
  parameter INITVAL_3D = 320'h0;
  parameter INITVAL_3E = 320'h0;
  parameter INITVAL_3F = 320'h0;

  wire [17:0] dia = {DIA17, DIA16, DIA15, DIA14, DIA13, DIA12, DIA11, DIA10, DIA9, DIA8, DIA7, DIA6, DIA5, DIA4, DIA3, DIA2, DIA1, DIA0};
  wire [17:0] dib = {DIB17, DIB16, DIB15, DIB14, DIB13, DIB12, DIB11, DIB10, DIB9, DIB8, DIB7, DIB6, DIB5, DIB4, DIB3, DIB2, DIB1, DIB0};
  wire [13:0] ada = {ADA13, ADA12, ADA11, ADA10, ADA9, ADA8, ADA7, ADA6, ADA5, ADA4, ADA3, ADA2, ADA1, ADA0};
  wire [13:0] adb = {ADB13, ADB12, ADB11, ADB10, ADB9, ADB8, ADB7, ADB6, ADB5, ADB4, ADB3, ADB2, ADB1, ADB0};
  reg [17:0] doa = 18'd0, dob = 18'd0, dob_lo = 18'd0;   // dob_lo: the low half of a 36-bit read on B
  assign {DOA17, DOA16, DOA15, DOA14, DOA13, DOA12, DOA11, DOA10, DOA9, DOA8, DOA7, DOA6, DOA5, DOA4, DOA3, DOA2, DOA1, DOA0} = DATA_WIDTH_B == 36 ? dob_lo : doa;
  assign {DOB17, DOB16, DOB15, DOB14, DOB13, DOB12, DOB11, DOB10, DOB9, DOB8, DOB7, DOB6, DOB5, DOB4, DOB3, DOB2, DOB1, DOB0} = dob;

  reg [17:0] mem [0:1023];

  function [319:0] initval(input [5:0] k);
    case (k)
      6'h00: initval = INITVAL_00;
      6'h01: initval = INITVAL_01;
      6'h02: initval = INITVAL_02;
      6'h03: initval = INITVAL_03;
      6'h04: initval = INITVAL_04;
      6'h05: initval = INITVAL_05;
      6'h06: initval = INITVAL_06;
      6'h07: initval = INITVAL_07;
      6'h08: initval = INITVAL_08;
      6'h09: initval = INITVAL_09;
      6'h0A: initval = INITVAL_0A;
      6'h0B: initval = INITVAL_0B;
      6'h0C: initval = INITVAL_0C;
      6'h0D: initval = INITVAL_0D;
      6'h0E: initval = INITVAL_0E;
      6'h0F: initval = INITVAL_0F;
      6'h10: initval = INITVAL_10;
      6'h11: initval = INITVAL_11;
      6'h12: initval = INITVAL_12;
      6'h13: initval = INITVAL_13;
      6'h14: initval = INITVAL_14;
      6'h15: initval = INITVAL_15;
      6'h16: initval = INITVAL_16;
      6'h17: initval = INITVAL_17;
      6'h18: initval = INITVAL_18;
      6'h19: initval = INITVAL_19;
      6'h1A: initval = INITVAL_1A;
      6'h1B: initval = INITVAL_1B;
      6'h1C: initval = INITVAL_1C;
      6'h1D: initval = INITVAL_1D;
      6'h1E: initval = INITVAL_1E;
      6'h1F: initval = INITVAL_1F;
      6'h20: initval = INITVAL_20;
      6'h21: initval = INITVAL_21;
      6'h22: initval = INITVAL_22;
      6'h23: initval = INITVAL_23;
      6'h24: initval = INITVAL_24;
      6'h25: initval = INITVAL_25;
      6'h26: initval = INITVAL_26;
      6'h27: initval = INITVAL_27;
      6'h28: initval = INITVAL_28;
      6'h29: initval = INITVAL_29;
      6'h2A: initval = INITVAL_2A;
      6'h2B: initval = INITVAL_2B;
      6'h2C: initval = INITVAL_2C;
      6'h2D: initval = INITVAL_2D;
      6'h2E: initval = INITVAL_2E;
      6'h2F: initval = INITVAL_2F;
      6'h30: initval = INITVAL_30;
      6'h31: initval = INITVAL_31;
      6'h32: initval = INITVAL_32;
      6'h33: initval = INITVAL_33;
      6'h34: initval = INITVAL_34;
      6'h35: initval = INITVAL_35;
      6'h36: initval = INITVAL_36;
      6'h37: initval = INITVAL_37;
      6'h38: initval = INITVAL_38;
      6'h39: initval = INITVAL_39;
      6'h3A: initval = INITVAL_3A;
      6'h3B: initval = INITVAL_3B;
      6'h3C: initval = INITVAL_3C;
      6'h3D: initval = INITVAL_3D;
      6'h3E: initval = INITVAL_3E;
      6'h3F: initval = INITVAL_3F;
    endcase
  endfunction

  function integer csdecode(input [8*5-1:0] s);
    case (s)
      "0b000": csdecode = 0;  "0b001": csdecode = 1;  "0b010": csdecode = 2;  "0b011": csdecode = 3;
      "0b100": csdecode = 4;  "0b101": csdecode = 5;  "0b110": csdecode = 6;  "0b111": csdecode = 7;
      default: csdecode = -1;
    endcase
  endfunction

  function ok_width(input integer w);
    ok_width = w == 1 || w == 2 || w == 4 || w == 9 || w == 18 || w == 36;
  endfunction

  function ok_writemode(input [8*15-1:0] m);
    ok_writemode = m == "NORMAL" || m == "WRITETHROUGH" || m == "READBEFOREWRITE";
  endfunction

  // a narrow (< 18 bits) access at address ad: its bit offset in the 18-bit word ad[13:4], its mask
  function [4:0] shift_of(input integer w, input [13:0] ad);
    case (w)
      1: shift_of = 9 * ad[3] + ad[2:0];
      2: shift_of = 9 * ad[3] + 2 * ad[2:1];
      4: shift_of = 9 * ad[3] + 4 * ad[2];
      default: shift_of = 9 * ad[3];
    endcase
  endfunction
  function [17:0] mask_of(input integer w, input [13:0] ad);
    mask_of = w == 18 ? {{9{ad[1]}}, {9{ad[0]}}} : ((18'd1 << w) - 18'd1) << shift_of(w, ad);
  endfunction
  // the data of a w-bit access placed in its 18-bit word (write), and read out of it
  function [17:0] lane_in(input integer w, input [17:0] d, input [13:0] ad);
    lane_in = w == 18 ? d : d << shift_of(w, ad);
  endfunction
  function [17:0] lane_out(input integer w, input [17:0] word, input [17:0] m, input [13:0] ad);
    lane_out = w == 18 ? word : (word & m) >> shift_of(w, ad);
  endfunction

  localparam PDP = DATA_WIDTH_A == 36;
  localparam integer CS_A = csdecode(CSDECODE_A);
  localparam integer CS_B = csdecode(CSDECODE_B);

  integer i, j;
  reg [319:0] slice;
  initial begin
    if (!ok_width(DATA_WIDTH_A) || !ok_width(DATA_WIDTH_B) || (DATA_WIDTH_B == 36 && DATA_WIDTH_A != 36)
        || REGMODE_A != "NOREG" || REGMODE_B != "NOREG" || (RESETMODE != "SYNC" && RESETMODE != "ASYNC")
        || !ok_writemode(WRITEMODE_A) || !ok_writemode(WRITEMODE_B) || CS_A < 0 || CS_B < 0
        || CLKAMUX != "CLKA" || CLKBMUX != "CLKB") begin
      $display("ERROR: DP16KD %m: a mode hwgen's model (hwgen/flow/ecp5_bram_sim.v) does not cover: DATA_WIDTH_A=%0d DATA_WIDTH_B=%0d REGMODE_A=%0s REGMODE_B=%0s RESETMODE=%0s WRITEMODE_A=%0s WRITEMODE_B=%0s CSDECODE_A=%0s CSDECODE_B=%0s CLKAMUX=%0s CLKBMUX=%0s",
               DATA_WIDTH_A, DATA_WIDTH_B, REGMODE_A, REGMODE_B, RESETMODE, WRITEMODE_A, WRITEMODE_B,
               CSDECODE_A, CSDECODE_B, CLKAMUX, CLKBMUX);
      $finish;
    end
    for (i = 0; i < 64; i = i + 1) begin
      slice = initval(i[5:0]);
      for (j = 0; j < 16; j = j + 1)
        mem[i * 16 + j] = slice[j * 20 +: 18];
    end
  end

  wire en_a = CEA && {CSA2, CSA1, CSA0} == CS_A[2:0];
  wire en_b = CEB && {CSB2, CSB1, CSB0} == CS_B[2:0];
  wire arst_a = RESETMODE == "ASYNC" && RSTA;
  wire arst_b = RESETMODE == "ASYNC" && RSTB;

  // port A: a 36-bit write port (pseudo dual port), or a read/write port of up to 18 bits
  reg [17:0] old_a, new_a, m_a;
  reg [9:0] w_a;
  always @(posedge CLKA or posedge arst_a) begin
    if (arst_a) begin
      doa <= 18'd0;
    end else if (PDP) begin
      if (en_a && WEA) begin
        w_a = {ada[13:5], 1'b0};
        mem[w_a] <= (mem[w_a] & ~{{9{ada[1]}}, {9{ada[0]}}}) | (dia & {{9{ada[1]}}, {9{ada[0]}}});
        mem[w_a | 10'd1] <= (mem[w_a | 10'd1] & ~{{9{ada[3]}}, {9{ada[2]}}}) | (dib & {{9{ada[3]}}, {9{ada[2]}}});
      end
    end else if (RESETMODE == "SYNC" && RSTA) begin
      doa <= 18'd0;
    end else if (en_a) begin
      w_a = ada[13:4];
      m_a = mask_of(DATA_WIDTH_A, ada);
      old_a = mem[w_a];
      new_a = (old_a & ~m_a) | (lane_in(DATA_WIDTH_A, dia, ada) & m_a);
      if (WEA) begin
        mem[w_a] <= new_a;
        if (WRITEMODE_A == "WRITETHROUGH")
          doa <= lane_out(DATA_WIDTH_A, new_a, m_a, ada);
        else if (WRITEMODE_A == "READBEFOREWRITE")
          doa <= lane_out(DATA_WIDTH_A, old_a, m_a, ada);
      end else
        doa <= lane_out(DATA_WIDTH_A, old_a, m_a, ada);
    end
  end

  // port B: the read port of the pseudo dual port (36 bits on {DOB, DOA}, narrower on DOB), or a
  // read/write port of up to 18 bits
  reg [17:0] old_b, new_b, m_b;
  reg [9:0] w_b;
  always @(posedge CLKB or posedge arst_b) begin
    if (arst_b) begin
      dob <= 18'd0;
      dob_lo <= 18'd0;
    end else if (RESETMODE == "SYNC" && RSTB) begin
      dob <= 18'd0;
      dob_lo <= 18'd0;
    end else if (en_b) begin
      if (DATA_WIDTH_B == 36) begin
        dob_lo <= mem[{adb[13:5], 1'b0}];
        dob <= mem[{adb[13:5], 1'b1}];
      end else begin
        w_b = adb[13:4];
        m_b = mask_of(DATA_WIDTH_B, adb);
        old_b = mem[w_b];
        new_b = (old_b & ~m_b) | (lane_in(DATA_WIDTH_B, dib, adb) & m_b);
        if (WEB && !PDP) begin
          mem[w_b] <= new_b;
          if (WRITEMODE_B == "WRITETHROUGH")
            dob <= lane_out(DATA_WIDTH_B, new_b, m_b, adb);
          else if (WRITEMODE_B == "READBEFOREWRITE")
            dob <= lane_out(DATA_WIDTH_B, old_b, m_b, adb);
        end else
          dob <= lane_out(DATA_WIDTH_B, old_b, m_b, adb);
      end
    end
  end
endmodule
